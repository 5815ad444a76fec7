"""pswrap: run the exact PowerShell cmdlets Windows admins trust on a remote Windows server over PSRP."""

__version__ = "0.1.0"
