-- Marten's event store tables, as Marten 9.29.0 creates them (JasperFx/marten, tag V9.29.0,
-- commit c921fa5d): src/Marten/Events/Schema/EventsTable.cs, StreamsTable.cs,
-- EventProgressionTable.cs, SequenceColumn.cs, EventBdataColumn.cs and
-- src/Marten/Events/EventGraph.FeatureSchema.cs (the sequence), with the column types
-- Weasel maps the .NET members to (Guid -> uuid, long -> bigint, string -> varchar,
-- DateTimeOffset -> timestamptz). There is no .NET here to let Marten create them.
--
-- The configuration written down: conjoined tenancy (Events.TenancyStyle =
-- TenancyStyle.Conjoined, so tenant_id leads mt_streams' key and several tenants share
-- the tables), uuid stream ids (StreamIdentity.AsGuid), the correlation id, causation id
-- and headers metadata enabled (Events.MetadataConfig), no archived-stream or per-tenant
-- partitioning. bdata (nullable bytea, Marten 9, issue #4515) holds binary payloads of
-- event types opted into binary serialisation; Marten 7 and 8 have no such column, and
-- mt_streams there also had the never-used snapshot jsonb and snapshot_version integer.
--
-- Run with search_path set to the event schema (Marten's Events.DatabaseSchemaName):
-- the names are unqualified on purpose, so one file serves any schema.

CREATE TABLE mt_streams (
    tenant_id varchar NOT NULL DEFAULT '*DEFAULT*',
    id uuid NOT NULL,
    type varchar NULL,
    version bigint NULL,
    "timestamp" timestamptz NOT NULL DEFAULT (now()),
    created timestamptz NOT NULL DEFAULT (now()),
    is_archived bool NULL DEFAULT FALSE,
    CONSTRAINT pkey_mt_streams_tenant_id_id PRIMARY KEY (tenant_id, id)
);

CREATE TABLE mt_events (
    seq_id bigint NOT NULL,
    id uuid NOT NULL,
    stream_id uuid NULL,
    version bigint NOT NULL,
    data jsonb NOT NULL,
    bdata bytea NULL,
    type varchar(500) NOT NULL,
    "timestamp" timestamptz NOT NULL DEFAULT (now()),
    tenant_id varchar NULL DEFAULT '*DEFAULT*',
    mt_dotnet_type varchar NULL,
    correlation_id varchar NULL,
    causation_id varchar NULL,
    headers jsonb NULL,
    is_archived bool NULL DEFAULT FALSE,
    CONSTRAINT pkey_mt_events_seq_id PRIMARY KEY (seq_id),
    CONSTRAINT fkey_mt_events_stream_id_tenant_id FOREIGN KEY (tenant_id, stream_id)
        REFERENCES mt_streams (tenant_id, id)
);

CREATE UNIQUE INDEX pk_mt_events_stream_and_version ON mt_events USING btree (tenant_id, stream_id, version);

CREATE SEQUENCE mt_events_sequence OWNED BY mt_events.seq_id;

CREATE TABLE mt_event_progression (
    name varchar NOT NULL,
    last_seq_id bigint NULL,
    last_updated timestamptz NULL DEFAULT (transaction_timestamp()),
    CONSTRAINT pk_mt_event_progression PRIMARY KEY (name)
);
