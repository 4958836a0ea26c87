"""Reading and checking the files the performance team owns."""
