"""Words, content, charts and rendering: an occurrence's messages."""
