stats nosuch
