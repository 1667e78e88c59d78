"""The kit's notebooks, shipped inside it as ``pipeline.notebook_files``."""
