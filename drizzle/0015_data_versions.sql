CREATE TABLE "data_versions" (
	"scope" uuid PRIMARY KEY NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL
);
