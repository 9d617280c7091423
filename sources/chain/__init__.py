"""Chain status for the maturity job: how many confirmations a found block has, or None when it is not on the
main chain (orphaned). `status` (the interface and its settings), `rpc` (a bitcoind-compatible node's JSON-RPC),
`simulated` (the chain file `poolstream simulate` writes)."""
