"""The web application: members answer their emails in one click, on the same store."""
