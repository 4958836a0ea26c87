"""The daemon that fires each occurrence on time, and its leader lease."""
