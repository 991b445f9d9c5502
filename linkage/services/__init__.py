"""State changes of linkage. Network calls happen outside database transactions; every state change
before and after one is its own transaction, checked under select_for_update against the status
machine, with its audit events. Modules: codes (符号 acquisition), queries (outbound queries, results,
registration of doses), provision (inbound queries and our answers), purge (expired results)."""
