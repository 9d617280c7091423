"""Kafka client code of every layer: the confluent-kafka publisher, topic admin, client configuration."""
