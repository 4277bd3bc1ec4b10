stats antivirus1
