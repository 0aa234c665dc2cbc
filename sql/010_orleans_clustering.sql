-- Silo membership for Microsoft.Orleans.Clustering.AdoNet 10.x.
-- Contract: one version row per cluster (optimistic concurrency for every membership change) and one row per silo.
-- Times are timestamptz: the provider sends UTC values typed as "timestamp with time zone".
SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS orleans_membership_version (
    deployment_id text        PRIMARY KEY,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    version       integer     NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS orleans_membership (
    deployment_id  text        NOT NULL REFERENCES orleans_membership_version (deployment_id),
    address        text        NOT NULL,
    port           integer     NOT NULL,
    generation     integer     NOT NULL,
    silo_name      text        NOT NULL,
    host_name      text        NOT NULL,
    status         integer     NOT NULL,
    proxy_port     integer     NOT NULL DEFAULT 0,
    suspect_times  text        NULL,
    start_time     timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    PRIMARY KEY (deployment_id, address, port, generation)
);

-- Runs on every silo start: creates the version row once, and must answer (1 or 0) either way.
CREATE OR REPLACE FUNCTION tekana_membership_init(p_deployment text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    affected integer;
BEGIN
    INSERT INTO orleans_membership_version (deployment_id) VALUES (p_deployment)
    ON CONFLICT (deployment_id) DO NOTHING;
    GET DIAGNOSTICS affected = ROW_COUNT;
    RETURN affected;
END $$;

-- Adds a silo and bumps the table version, both or neither: 1 on success, 0 on a stale version or a duplicate silo.
CREATE OR REPLACE FUNCTION tekana_membership_insert(
    p_deployment text, p_address text, p_port integer, p_generation integer, p_silo_name text, p_host_name text,
    p_status integer, p_proxy_port integer, p_start_time timestamptz, p_alive timestamptz, p_version integer)
RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orleans_membership_version SET version = version + 1, changed_at = now()
     WHERE deployment_id = p_deployment AND version = p_version;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    BEGIN
        INSERT INTO orleans_membership (deployment_id, address, port, generation, silo_name, host_name, status,
                                        proxy_port, start_time, i_am_alive_time)
        VALUES (p_deployment, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status,
                coalesce(p_proxy_port, 0), p_start_time, p_alive);
    EXCEPTION WHEN unique_violation THEN
        -- The silo row exists: undo the version bump as well by failing the whole call.
        RAISE EXCEPTION 'membership row exists' USING ERRCODE = 'T0001';
    END;
    RETURN 1;
EXCEPTION WHEN SQLSTATE 'T0001' THEN
    RETURN 0;
END $$;

-- Changes a silo's status and suspicions and bumps the table version, both or neither.
CREATE OR REPLACE FUNCTION tekana_membership_update(
    p_deployment text, p_address text, p_port integer, p_generation integer, p_status integer,
    p_suspect_times text, p_alive timestamptz, p_version integer)
RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orleans_membership_version SET version = version + 1, changed_at = now()
     WHERE deployment_id = p_deployment AND version = p_version;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    UPDATE orleans_membership
       SET status = p_status, suspect_times = p_suspect_times, i_am_alive_time = greatest(i_am_alive_time, p_alive)
     WHERE deployment_id = p_deployment AND address = p_address AND port = p_port AND generation = p_generation;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'membership row missing' USING ERRCODE = 'T0001';
    END IF;
    RETURN 1;
EXCEPTION WHEN SQLSTATE 'T0001' THEN
    RETURN 0;
END $$;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('InsertMembershipVersionKey',
 'SELECT tekana_membership_init(@DeploymentId)'),
('InsertMembershipKey',
 'SELECT tekana_membership_insert(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version)'),
('UpdateMembershipKey',
 'SELECT tekana_membership_update(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes, @IAmAliveTime, @Version)'),
('UpdateIAmAlivetimeKey',
 'UPDATE orleans_membership SET i_am_alive_time = greatest(i_am_alive_time, @IAmAliveTime)
   WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation'),
('MembershipReadAllKey',
 'SELECT v.deployment_id AS DeploymentId, m.address AS Address, m.port AS Port, m.generation AS Generation,
         m.silo_name AS SiloName, m.host_name AS HostName, m.status AS Status, m.proxy_port AS ProxyPort,
         m.suspect_times AS SuspectTimes, m.start_time AS StartTime, m.i_am_alive_time AS IAmAliveTime, v.version AS Version
    FROM orleans_membership_version v
    LEFT JOIN orleans_membership m ON m.deployment_id = v.deployment_id
   WHERE v.deployment_id = @DeploymentId'),
('MembershipReadRowKey',
 'SELECT v.deployment_id AS DeploymentId, m.address AS Address, m.port AS Port, m.generation AS Generation,
         m.silo_name AS SiloName, m.host_name AS HostName, m.status AS Status, m.proxy_port AS ProxyPort,
         m.suspect_times AS SuspectTimes, m.start_time AS StartTime, m.i_am_alive_time AS IAmAliveTime, v.version AS Version
    FROM orleans_membership_version v
    LEFT JOIN orleans_membership m ON m.deployment_id = v.deployment_id
         AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
   WHERE v.deployment_id = @DeploymentId'),
('GatewaysQueryKey',
 'SELECT address AS Address, proxy_port AS ProxyPort, generation AS Generation
    FROM orleans_membership
   WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0'),
('DeleteMembershipTableEntriesKey',
 'DELETE FROM orleans_membership WHERE deployment_id = @DeploymentId;
  DELETE FROM orleans_membership_version WHERE deployment_id = @DeploymentId'),
-- Only silos declared dead (status 6) and silent since the cutoff are removed; a slow-starting silo is never touched.
('CleanupDefunctSiloEntriesKey',
 'DELETE FROM orleans_membership
   WHERE deployment_id = @DeploymentId AND status = 6 AND i_am_alive_time < @IAmAliveTime')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
