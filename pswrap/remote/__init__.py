"""Running steps on a Windows server over PSRP/WinRM, one module per job.

- `target`: targets and the configuration file (flags > PSWRAP_* env > file > defaults);
  `secret_sources`: where a password comes from; `embedded_lab`: the `lab` target.
- `session`: `open_session()` / `Session.step()` — render, connect, run, parse, retry.
- `pools`: one runspace pool per need per run; `invoke`: one pipeline with a wall-clock limit.
- `classify`: ErrorRecords and transport failures → pswrap's typed errors; `retry`: what is retried.
- `parse`: a step's JSON document → its typed model.

Importing this package imports nothing heavy; pypsrp and pydantic load when a step runs.
"""
