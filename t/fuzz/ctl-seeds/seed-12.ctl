cache flush
