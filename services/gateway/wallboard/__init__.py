"""The wallboard: a live page of the chat queues for a wall screen (docs/api.md)."""
