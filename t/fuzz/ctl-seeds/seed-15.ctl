antivirus:antivirus1 stats
