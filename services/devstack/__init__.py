"""The dev stack: everything `kanava up` starts when no real Kafka or PostgreSQL is configured."""
