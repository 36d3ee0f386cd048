-- A kiosk store as release 0.1.0 made it (before migrations were recorded): sqlite3 .dump
BEGIN TRANSACTION;
CREATE TABLE "state" (
   "key" TEXT PRIMARY KEY,
   "value" TEXT
);
INSERT INTO "state" VALUES('server_url','https://smiletap.example');
INSERT INTO "state" VALUES('device_id','dev_test');
INSERT INTO "state" VALUES('token','token');
INSERT INTO "state" VALUES('status','ok');
INSERT INTO "state" VALUES('config','{"etag":"etag-1","device":{"id":"dev_test","name":"Front door"},"location":{"id":"loc_test","name":"Test store","timezone":"Europe/Warsaw","opening_hours":null},"survey":{"languages":["en","pl"],"default_language":"en","questions":[{"id":"q1","kind":"smiley","scale":4,"text":{"en":"How was your visit today?","pl":"Jak oceniasz wizytę?"},"follow_up":null,"comment":false}],"staff_prompt":"none","fixed_staff_id":null,"thank_you":{"en":"Thank you!","pl":"Dziękujemy!"},"name":null,"id":"srv_test","version":1},"staff":[],"kiosk":{"idle_reset_s":20,"thank_you_s":4,"burst_max_taps":5,"burst_window_s":10}}');
INSERT INTO "state" VALUES('config_etag','etag-1');
CREATE TABLE "submissions" (
   "id" TEXT PRIMARY KEY,
   "created_at" TEXT NOT NULL,
   "created_ts" REAL NOT NULL,
   "payload" TEXT NOT NULL,
   "state" TEXT NOT NULL DEFAULT 'pending',
   "in_progress" INTEGER NOT NULL DEFAULT 0,
   "reason" TEXT,
   "field" TEXT,
   "delivered_at" TEXT,
   "boot_id" TEXT,
   "uptime_s" REAL
);
INSERT INTO "submissions" VALUES('0b8f4a3e-7b1c-4d2a-9e5f-000000000001','2026-11-18T11:06:40Z',1795000000.0,'{"id":"0b8f4a3e-7b1c-4d2a-9e5f-000000000001","survey_id":"srv_test","survey_version":1,"location_id":"loc_test","staff_id":null,"language":"en","tapped_at":"2026-11-23T10:00:00Z","answers":[{"question_id":"q1","value":3,"reasons":[],"comment":null}],"flags":[],"age_s":null}','delivered',0,NULL,NULL,'2026-12-02T10:07:57.257349Z','0e1dd8aa-dfc4-454f-a4ea-9063aebe0941',1124.351590709);
INSERT INTO "submissions" VALUES('0b8f4a3e-7b1c-4d2a-9e5f-000000000002','2026-11-18T11:06:41Z',1795000001.0,'{"id":"0b8f4a3e-7b1c-4d2a-9e5f-000000000002","survey_id":"srv_test","survey_version":1,"location_id":"loc_test","staff_id":null,"language":"en","tapped_at":"2026-11-23T10:00:00Z","answers":[{"question_id":"q1","value":1,"reasons":[],"comment":null}],"flags":[],"age_s":null}','pending',1,NULL,NULL,NULL,'0e1dd8aa-dfc4-454f-a4ea-9063aebe0941',1124.353186674);
INSERT INTO "submissions" VALUES('0b8f4a3e-7b1c-4d2a-9e5f-000000000003','2026-11-18T11:06:42Z',1795000002.0,'{"id":"0b8f4a3e-7b1c-4d2a-9e5f-000000000003","survey_id":"srv_test","survey_version":1,"location_id":"loc_test","staff_id":null,"language":"en","tapped_at":"2026-11-23T10:00:00Z","answers":[{"question_id":"q1","value":2,"reasons":[],"comment":null}],"flags":[],"age_s":null}','rejected',0,'unknown_staff','staff_id',NULL,'0e1dd8aa-dfc4-454f-a4ea-9063aebe0941',1124.355673272);
CREATE INDEX "idx_submissions_state_created_ts"
    ON "submissions" ("state", "created_ts");
CREATE INDEX "idx_submissions_created_ts"
    ON "submissions" ("created_ts");
COMMIT;
