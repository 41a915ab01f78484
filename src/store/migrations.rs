//! Migrations embedded in the binary, so `rightsdesk migrate` needs no files on disk.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

macro_rules! embed {
    ($dir:literal: $($version:literal => $name:literal),+ $(,)?) => {
        vec![$(Migration::new(
            $version,
            Cow::Borrowed($name),
            MigrationType::Simple,
            sqlx::SqlSafeStr::into_sql_str(include_str!(concat!("../../migrations/", $dir, "/", $name, ".sql"))),
            false,
        )),+]
    };
}

fn migrator(migrations: Vec<Migration>) -> Migrator {
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

pub fn sqlite() -> Migrator {
    migrator(
        embed!("sqlite": 1 => "0001_spine", 2 => "0002_intake", 3 => "0003_deadlines", 4 => "0004_portal", 5 => "0005_tasks", 6 => "0006_exports", 7 => "0007_retention", 8 => "0008_connectors", 9 => "0009_verification", 10 => "0010_task_results", 11 => "0011_ops", 12 => "0012_escalation", 16 => "0016_second_factor_lockout", 17 => "0017_datasec", 18 => "0018_residence", 19 => "0019_suppression", 20 => "0020_duplicates", 21 => "0021_drp", 22 => "0022_drp_replay", 24 => "0024_appeals", 25 => "0025_recipients", 26 => "0026_conversation", 27 => "0027_webhooks", 28 => "0028_inbox", 29 => "0029_language", 30 => "0030_job_batches", 31 => "0031_audit_pending"),
    )
}

pub fn postgres() -> Migrator {
    migrator(
        embed!("postgres": 1 => "0001_spine", 2 => "0002_intake", 3 => "0003_deadlines", 4 => "0004_portal", 5 => "0005_tasks", 6 => "0006_exports", 7 => "0007_retention", 8 => "0008_connectors", 9 => "0009_verification", 10 => "0010_task_results", 11 => "0011_ops", 12 => "0012_escalation", 16 => "0016_second_factor_lockout", 17 => "0017_datasec", 18 => "0018_residence", 19 => "0019_suppression", 20 => "0020_duplicates", 21 => "0021_drp", 22 => "0022_drp_replay", 24 => "0024_appeals", 25 => "0025_recipients", 26 => "0026_conversation", 27 => "0027_webhooks", 28 => "0028_inbox", 29 => "0029_language", 30 => "0030_job_batches", 31 => "0031_audit_pending"),
    )
}
