cache
