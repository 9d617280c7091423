"""The Faust side: the app factory, the shared agent runtime, and one agent per consumed topic (shares, blocks)."""
