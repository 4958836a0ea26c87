"""The store, the outbox, the delivery loop and the transports."""
