PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE goose_db_version (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		version_id INTEGER NOT NULL,
		is_applied INTEGER NOT NULL,
		tstamp TIMESTAMP DEFAULT (datetime('now'))
	);
INSERT INTO goose_db_version VALUES(1,0,1,'2026-11-30 12:22:18');
INSERT INTO goose_db_version VALUES(2,1,1,'2026-11-30 12:22:18');
CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
INSERT INTO tenants VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','default',1796041338826);
CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    mode       TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
INSERT INTO api_keys VALUES('key_01m8p6fvyg7hwden45jrczx2xf','ten_01m8p6fvya5zv5k74r9zqre3g9','live','sk_live_6-FTcl',X'479a7cf486753a0ca88de53afc4c4377f8f4ad137131f16f2c7c2bb86c9e8a9f',1796041338832,NULL);
INSERT INTO api_keys VALUES('key_01m8p6fvyseezktr4g4zjmwkqk','ten_01m8p6fvya5zv5k74r9zqre3g9','test','sk_test_2uozra',X'23dd92247b14e78683f5640637b149be7621a9105843529ca660a8d20133d4c9',1796041338841,NULL);
CREATE TABLE event_types (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    mode        TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, mode, name)
) WITHOUT ROWID;
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','live','CallBroadcast.finished','CallFire: a call broadcast finished',1796041347249,1796041347249);
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','live','CallBroadcast.started','A broadcast started',1796041346645,1796041346645);
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','live','CallBroadcast.stopped','CallFire: a call broadcast stopped',1796041347249,1796041347249);
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','live','CccCampaign.finished','CallFire: a CCC campaign finished',1796041347249,1796041347249);
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','live','CccCampaign.started','CallFire: a CCC campaign started',1796041347249,1796041347249);
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','live','CccCampaign.stopped','CallFire: a CCC campaign stopped',1796041347249,1796041347249);
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','live','ContactList.validationFailed','CallFire: a contact list''s validation validationFailed',1796041347249,1796041347249);
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','live','ContactList.validationFinished','CallFire: a contact list''s validation validationFinished',1796041347249,1796041347249);
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','live','InboundCall.finished','CallFire: an inbound call finished',1796041347249,1796041347249);
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','live','InboundText.finished','CallFire: an inbound text finished',1796041347249,1796041347249);
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','live','OutboundCall.finished','CallFire: an outbound call finished',1796041347249,1796041347249);
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','live','OutboundText.finished','CallFire: an outbound text finished',1796041347249,1796041347249);
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','live','TextBroadcast.finished','CallFire: a text broadcast finished',1796041347249,1796041347249);
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','live','TextBroadcast.started','CallFire: a text broadcast started',1796041347249,1796041347249);
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','live','TextBroadcast.stopped','CallFire: a text broadcast stopped',1796041347249,1796041347249);
INSERT INTO event_types VALUES('ten_01m8p6fvya5zv5k74r9zqre3g9','test','Text.sent','',1796041347766,1796041347766);
CREATE TABLE webhooks (
    number                     INTEGER PRIMARY KEY AUTOINCREMENT,
    id                         TEXT NOT NULL UNIQUE,
    tenant_id                  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    mode                       TEXT NOT NULL,
    name                       TEXT NOT NULL DEFAULT '',
    description                TEXT NOT NULL DEFAULT '',
    url                        TEXT NOT NULL,
    event_types                TEXT NOT NULL DEFAULT '[]',
    filter                     TEXT,
    fields                     TEXT NOT NULL DEFAULT '[]',
    enabled                    INTEGER NOT NULL,
    status                     TEXT NOT NULL,
    secret                     TEXT NOT NULL,
    single_use                 INTEGER NOT NULL DEFAULT 0,
    expires_at                 INTEGER,
    tls_verify                 INTEGER NOT NULL DEFAULT 1,
    headers                    TEXT NOT NULL DEFAULT '{}',
    rate_limit                 INTEGER,
    metadata                   TEXT NOT NULL DEFAULT '{}',
    source                     TEXT NOT NULL DEFAULT '',
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL,
    previous_secret            TEXT NOT NULL DEFAULT '',
    previous_secret_expires_at INTEGER,
    failing_since              INTEGER
);
INSERT INTO webhooks VALUES(1,'wh_01m8p6g3nnd42q6edasgcqp19h','ten_01m8p6fvya5zv5k74r9zqre3g9','live','ok','','http://127.0.0.1:18778/hook','["CallBroadcast.*"]',NULL,'[]',1,'active','whsec_NIN0QhmaWzdWNqCnWxWDZKy22MDcUKL7',0,NULL,1,'{"X-A":"1"}',50,'{"team":"a"}','',1796041346741,1796041346741,'',NULL,NULL);
INSERT INTO webhooks VALUES(2,'wh_01m8p6g3rkfpdx0xty2g80ybvs','ten_01m8p6fvya5zv5k74r9zqre3g9','live','down','','http://127.0.0.1:18779/nothing','[]','{"data.n":{"$gte":1}}','["n"]',1,'active','whsec_WALYG7miotLWRWP/AMBKcFLUF09/8K8E',0,NULL,1,'{}',NULL,'{}','',1796041346835,1796041346835,'',NULL,1796041347370);
INSERT INTO webhooks VALUES(3,'wh_01m8p6g3z159ezpby00hmf4q58','ten_01m8p6fvya5zv5k74r9zqre3g9','live','expiring','','http://127.0.0.1:18778/exp','[]',NULL,'[]',1,'active','whsec_2BES4BcoDJTbwN2Ib8yRc+8qi1OV9wqi',0,1796041410000,1,'{}',NULL,'{}','',1796041347041,1796041347041,'',NULL,NULL);
INSERT INTO webhooks VALUES(4,'wh_01m8p6g42v88qbpmycdhb4xx77','ten_01m8p6fvya5zv5k74r9zqre3g9','test','testmode','','http://127.0.0.1:18778/t','[]',NULL,'[]',1,'active','whsec_tFk4AmMmRXGuSOQnlB6YKnDb2Z77ySS6',0,NULL,1,'{}',NULL,'{}','',1796041347163,1796041347163,'',NULL,NULL);
CREATE TABLE events (
    number          INTEGER PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    mode            TEXT NOT NULL,
    id              TEXT NOT NULL,
    type            TEXT NOT NULL,
    data            BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    idempotency_key TEXT,
    body_hash       BLOB,
    first_delivery  INTEGER NOT NULL DEFAULT 0,
    deliveries      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO events VALUES(1883285851855650816,'ten_01m8p6fvya5zv5k74r9zqre3g9','live','msg_01m8p6g496ekqc8z99mr9xxmct','CallBroadcast.started',X'7b226e223a317d',1796041347366,'k1',X'c1b4d967e6149c657100cffe725f0cde32d6371fdbdd8eb10e54ecfa00a25bbc',1883285851855650816,3);
INSERT INTO events VALUES(1883285852153446400,'ten_01m8p6fvya5zv5k74r9zqre3g9','live','msg_01m8p6g4j2e12fh2ba7k2dcx8w','CallBroadcast.started',X'7b226e223a327d',1796041347650,'k2',X'5b3e0c2a2860fa5c269fc8947515ae69ac4f290b4addb0c7ea113f1e0e301901',1883285852153446400,3);
INSERT INTO events VALUES(1883285852234186752,'ten_01m8p6fvya5zv5k74r9zqre3g9','live','msg_01m8p6g4mf1pyd55d6ajrafrkr','CallBroadcast.started',X'7b226e223a337d',1796041347727,'k3',X'd8b93b8fa909edc64cf05b6ac2fbb4f08651ba9e440334035dbad50003a47c55',1883285852234186752,3);
INSERT INTO events VALUES(1883285852275081216,'ten_01m8p6fvya5zv5k74r9zqre3g9','test','msg_01m8p6g4np169ksgjsj6ebyea4','Text.sent',X'7b226e223a397d',1796041347766,NULL,X'93b3c1ef25f5f7e9d5ae8ffa3fcdd3fe89c33bb94804e9dce857fe43bc0a3d46',1883285852275081216,1);
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    event_number    INTEGER NOT NULL,
    tenant_id       TEXT NOT NULL,
    mode            TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    webhook_id      TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT NOT NULL DEFAULT '',
    last_status     INTEGER NOT NULL DEFAULT 0,
    manual          INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
INSERT INTO deliveries VALUES(1883285851855650816,1883285851855650816,'ten_01m8p6fvya5zv5k74r9zqre3g9','live','msg_01m8p6g496ekqc8z99mr9xxmct','wh_01m8p6g3nnd42q6edasgcqp19h','CallBroadcast.started','succeeded',2,NULL,'',204,0,1796041347366,1796041352067);
INSERT INTO deliveries VALUES(1883285851855650817,1883285851855650816,'ten_01m8p6fvya5zv5k74r9zqre3g9','live','msg_01m8p6g496ekqc8z99mr9xxmct','wh_01m8p6g3rkfpdx0xty2g80ybvs','CallBroadcast.started','pending',2,1796041628283,'dial tcp 127.0.0.1:18779: connect: connection refused',0,0,1796041347366,1796041351552);
INSERT INTO deliveries VALUES(1883285851855650818,1883285851855650816,'ten_01m8p6fvya5zv5k74r9zqre3g9','live','msg_01m8p6g496ekqc8z99mr9xxmct','wh_01m8p6g3z159ezpby00hmf4q58','CallBroadcast.started','pending',1,1796041353023,'dial tcp 127.0.0.1:18778: connect: connection refused',0,0,1796041347366,1796041347396);
INSERT INTO deliveries VALUES(1883285852153446400,1883285852153446400,'ten_01m8p6fvya5zv5k74r9zqre3g9','live','msg_01m8p6g4j2e12fh2ba7k2dcx8w','wh_01m8p6g3nnd42q6edasgcqp19h','CallBroadcast.started','succeeded',1,NULL,'',204,0,1796041347650,1796041347684);
INSERT INTO deliveries VALUES(1883285852153446401,1883285852153446400,'ten_01m8p6fvya5zv5k74r9zqre3g9','live','msg_01m8p6g4j2e12fh2ba7k2dcx8w','wh_01m8p6g3rkfpdx0xty2g80ybvs','CallBroadcast.started','pending',1,1796041352954,'dial tcp 127.0.0.1:18779: connect: connection refused',0,0,1796041347650,1796041347684);
INSERT INTO deliveries VALUES(1883285852153446402,1883285852153446400,'ten_01m8p6fvya5zv5k74r9zqre3g9','live','msg_01m8p6g4j2e12fh2ba7k2dcx8w','wh_01m8p6g3z159ezpby00hmf4q58','CallBroadcast.started','succeeded',1,NULL,'',204,0,1796041347650,1796041347684);
INSERT INTO deliveries VALUES(1883285852234186752,1883285852234186752,'ten_01m8p6fvya5zv5k74r9zqre3g9','live','msg_01m8p6g4mf1pyd55d6ajrafrkr','wh_01m8p6g3nnd42q6edasgcqp19h','CallBroadcast.started','succeeded',1,NULL,'',204,0,1796041347727,1796041347755);
INSERT INTO deliveries VALUES(1883285852234186753,1883285852234186752,'ten_01m8p6fvya5zv5k74r9zqre3g9','live','msg_01m8p6g4mf1pyd55d6ajrafrkr','wh_01m8p6g3rkfpdx0xty2g80ybvs','CallBroadcast.started','pending',1,1796041352676,'dial tcp 127.0.0.1:18779: connect: connection refused',0,0,1796041347727,1796041347755);
INSERT INTO deliveries VALUES(1883285852234186754,1883285852234186752,'ten_01m8p6fvya5zv5k74r9zqre3g9','live','msg_01m8p6g4mf1pyd55d6ajrafrkr','wh_01m8p6g3z159ezpby00hmf4q58','CallBroadcast.started','succeeded',1,NULL,'',204,0,1796041347727,1796041347755);
INSERT INTO deliveries VALUES(1883285852275081216,1883285852275081216,'ten_01m8p6fvya5zv5k74r9zqre3g9','test','msg_01m8p6g4np169ksgjsj6ebyea4','wh_01m8p6g42v88qbpmycdhb4xx77','Text.sent','succeeded',1,NULL,'',204,0,1796041347766,1796041347805);
CREATE TABLE attempts (
    delivery_id      INTEGER NOT NULL,
    id               TEXT NOT NULL,
    at               INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    status_code      INTEGER NOT NULL,
    error_class      TEXT NOT NULL DEFAULT '',
    error            TEXT NOT NULL DEFAULT '',
    response_excerpt TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, id)
) WITHOUT ROWID;
INSERT INTO attempts VALUES(1883285851855650816,'att_01m8p6g4a4d63bqhp2a8cac3jr',1796041347369,3,0,'connection','dial tcp 127.0.0.1:18778: connect: connection refused','');
INSERT INTO attempts VALUES(1883285851855650816,'att_01m8p6g8w3b561xaqkw6gx6wxf',1796041352039,3,204,'','','');
INSERT INTO attempts VALUES(1883285851855650817,'att_01m8p6g4a4d63bqhp2a8cac3jq',1796041347370,0,0,'connection','dial tcp 127.0.0.1:18779: connect: connection refused','');
INSERT INTO attempts VALUES(1883285851855650817,'att_01m8p6g8c0f9bzfan0e6pz8zg6',1796041351522,0,0,'connection','dial tcp 127.0.0.1:18779: connect: connection refused','');
INSERT INTO attempts VALUES(1883285851855650818,'att_01m8p6g4a4d63bqhp2a8cac3jp',1796041347370,0,0,'connection','dial tcp 127.0.0.1:18778: connect: connection refused','');
INSERT INTO attempts VALUES(1883285852153446400,'att_01m8p6g4k44m7yw089r724m345',1796041347656,5,204,'','','');
INSERT INTO attempts VALUES(1883285852153446401,'att_01m8p6g4k44m7yw089r724m344',1796041347657,1,0,'connection','dial tcp 127.0.0.1:18779: connect: connection refused','');
INSERT INTO attempts VALUES(1883285852153446402,'att_01m8p6g4k44m7yw089r724m346',1796041347657,8,204,'','','');
INSERT INTO attempts VALUES(1883285852234186752,'att_01m8p6g4nbegx8fspfvsk08vff',1796041347729,6,204,'','','');
INSERT INTO attempts VALUES(1883285852234186753,'att_01m8p6g4nbegx8fspfvsk08vfe',1796041347729,0,0,'connection','dial tcp 127.0.0.1:18779: connect: connection refused','');
INSERT INTO attempts VALUES(1883285852234186754,'att_01m8p6g4nbegx8fspfvsk08vfg',1796041347729,5,204,'','','');
INSERT INTO attempts VALUES(1883285852275081216,'att_01m8p6g4pxevrgbqgx405xf9jt',1796041347771,8,204,'','','');
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('goose_db_version',2);
INSERT INTO sqlite_sequence VALUES('webhooks',4);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);
CREATE INDEX webhooks_scope ON webhooks (tenant_id, mode, id);
CREATE INDEX webhooks_failing ON webhooks (failing_since) WHERE failing_since IS NOT NULL;
CREATE UNIQUE INDEX events_scope_id ON events (tenant_id, mode, id);
CREATE UNIQUE INDEX events_idempotency_key ON events (tenant_id, mode, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_scope ON deliveries (tenant_id, mode);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id);
COMMIT;
