"""The PowerShell templates of every pswrap step, shipped inside the wheel (see pswrap.render)."""
