"""Foreign sources: the user's own event store, read and never written.

A foreign source is a log that catchup did not create: Message DB's ``messages``, Marten's
``mt_events``, the eventsourcing library's ``<app>_events``, any Postgres table or view,
or a Parquet dataset with a position column. It is named by a small TOML file
(``stores.foreign.spec``) and opened, like every store, with ``stores.open_store``.

The one rule: catchup never creates, alters or writes anything in a foreign database or
folder. Its connections to a foreign database run with ``default_transaction_read_only``
on (the server refuses a write), ``load``, ``append`` and live appends raise
ForeignReadOnly, and snapshots go to a catchup-owned snapshot folder
(``[snapshots] uri``, by default a folder beside the TOML file named after the source).

A preset (``stores.foreign.presets``) knows one system's table: which column is the
global order, the stream, its version, the type, the time and the payload, which rows to
leave out (archived, other tenants), and how far a reader may safely go (Marten's
high-water mark, else the rule for concurrent commits). It says so as a ``PgLayout``
(``stores.foreign.layout``); the reader (``stores.foreign.pg_source``) turns a layout
and the file's ``[columns]`` into one SQL query, streamed through ADBC.
"""
