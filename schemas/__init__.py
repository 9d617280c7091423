"""The contracts of poolstream: event structs, their JSON and Arrow codecs, and the ClickHouse DDL."""
