stats reset
