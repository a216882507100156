"""pos_connections, and pos_transactions range-partitioned by month on transaction_timestamp.

Django cannot create a partitioned table, so the database side of POSTransaction is SQL: the
primary key is (id, transaction_timestamp), as PostgreSQL requires of a partitioned table, while
Django's state keeps ``id`` as the primary key (the admin cannot register a composite key).
"""

import django.db.models.deletion
import taxpoynt.lib.fields
import uuid
from django.conf import settings
from django.db import migrations, models

from taxpoynt.lib.partitions import monthly_partitions_ensure

CREATE_TRANSACTIONS = """
CREATE TABLE "pos_transactions" (
    "id" uuid NOT NULL,
    "connection_id" uuid NOT NULL
        REFERENCES "pos_connections" ("id") ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    "external_transaction_id" varchar(255) NOT NULL,
    "transaction_amount" numeric(15, 2) NULL,
    "tax_amount" numeric(15, 2) NULL,
    "items" jsonb NULL,
    "customer_data" jsonb NULL,
    "transaction_timestamp" timestamp with time zone NOT NULL,
    "invoice_generated" boolean NOT NULL DEFAULT false,
    "invoice_transmitted" boolean NOT NULL DEFAULT false,
    "invoice_id" bigint NULL
        REFERENCES "invoices_invoice" ("id") ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
    "processing_errors" jsonb NULL,
    "transaction_metadata" jsonb NULL,
    "created_at" timestamp with time zone NOT NULL,
    "updated_at" timestamp with time zone NULL,
    "kind" varchar(8) NOT NULL,
    "currency" varchar(3) NOT NULL,
    "external_location_id" varchar(64) NOT NULL,
    "original_external_id" varchar(255) NOT NULL,
    "status" varchar(16) NOT NULL,
    "attempts" integer NOT NULL CHECK ("attempts" >= 0),
    "received_at" timestamp with time zone NOT NULL,
    "invoiced_at" timestamp with time zone NULL,
    "signed_at" timestamp with time zone NULL,
    PRIMARY KEY ("id", "transaction_timestamp"),
    CONSTRAINT "uniq_pos_transaction_external"
        UNIQUE ("connection_id", "external_transaction_id", "transaction_timestamp")
) PARTITION BY RANGE ("transaction_timestamp");
CREATE TABLE "pos_transactions_default" PARTITION OF "pos_transactions" DEFAULT;
CREATE INDEX "idx_pos_tx_conn_timestamp"
    ON "pos_transactions" ("connection_id", "transaction_timestamp");
CREATE INDEX "idx_pos_tx_external_id" ON "pos_transactions" ("external_transaction_id");
CREATE INDEX "idx_pos_tx_invoice" ON "pos_transactions" ("invoice_id");
CREATE INDEX "idx_pos_tx_invoice_status"
    ON "pos_transactions" ("connection_id", "invoice_generated", "invoice_transmitted");
CREATE INDEX "idx_pos_tx_pending" ON "pos_transactions" ("received_at") WHERE "status" = 'pending';
"""


def partitions_create(apps, schema_editor):
    monthly_partitions_ensure(table="pos_transactions", column="transaction_timestamp")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_organization_firs_crypto_keys"),
        ("invoices", "0003_seed_code_lists"),
        ("pos", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="POSConnection",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "credentials_encrypted",
                    taxpoynt.lib.fields.EncryptedTextField(blank=True, default=""),
                ),
                ("connection_settings", models.JSONField(blank=True, null=True)),
                ("webhook_url", models.CharField(blank=True, max_length=500)),
                ("webhook_secret", taxpoynt.lib.fields.EncryptedTextField(blank=True, default="")),
                ("is_active", models.BooleanField(default=True)),
                ("last_sync_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True, null=True)),
                ("account_id", models.CharField(blank=True, db_index=True, max_length=64)),
                ("base_url", models.URLField(blank=True, max_length=500)),
                ("notification_url", models.CharField(blank=True, max_length=500)),
                ("is_sandbox", models.BooleanField(default=False)),
                (
                    "health",
                    models.CharField(
                        choices=[
                            ("connected", "Connected"),
                            ("failing", "Failing"),
                            ("disconnected", "Disconnected"),
                        ],
                        default="connected",
                        max_length=16,
                    ),
                ),
                ("last_error", models.TextField(blank=True)),
                ("token_expires_at", models.DateTimeField(blank=True, null=True)),
                ("sync_cursor", models.CharField(blank=True, max_length=500)),
                ("pos_type", models.CharField(max_length=32, verbose_name="platform")),
                ("location_name", models.CharField(blank=True, max_length=255)),
                ("external_location_id", models.CharField(blank=True, max_length=64)),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.organization",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "POS connection",
                "db_table": "pos_connections",
            },
        ),
        migrations.AddIndex(
            model_name="posconnection",
            index=models.Index(fields=["pos_type"], name="idx_pos_connections_pos_type"),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="POSTransaction",
                    fields=[
                        (
                            "id",
                            models.UUIDField(
                                default=uuid.uuid4,
                                editable=False,
                                primary_key=True,
                                serialize=False,
                            ),
                        ),
                        ("external_transaction_id", models.CharField(max_length=255)),
                        (
                            "transaction_amount",
                            models.DecimalField(decimal_places=2, max_digits=15, null=True),
                        ),
                        (
                            "tax_amount",
                            models.DecimalField(decimal_places=2, max_digits=15, null=True),
                        ),
                        ("items", models.JSONField(blank=True, null=True)),
                        ("customer_data", models.JSONField(blank=True, null=True)),
                        ("transaction_timestamp", models.DateTimeField()),
                        ("invoice_generated", models.BooleanField(default=False)),
                        ("invoice_transmitted", models.BooleanField(default=False)),
                        ("processing_errors", models.JSONField(blank=True, null=True)),
                        ("transaction_metadata", models.JSONField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True, null=True)),
                        (
                            "kind",
                            models.CharField(
                                choices=[("sale", "Sale"), ("refund", "Refund")],
                                default="sale",
                                max_length=8,
                            ),
                        ),
                        ("currency", models.CharField(default="NGN", max_length=3)),
                        ("external_location_id", models.CharField(blank=True, max_length=64)),
                        ("original_external_id", models.CharField(blank=True, max_length=255)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("invoiced", "Invoiced"),
                                    ("failed", "Failed"),
                                ],
                                default="pending",
                                max_length=16,
                            ),
                        ),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("received_at", models.DateTimeField()),
                        ("invoiced_at", models.DateTimeField(blank=True, null=True)),
                        ("signed_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "connection",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="transactions",
                                to="pos.posconnection",
                            ),
                        ),
                        (
                            "invoice",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="invoices.invoice",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "POS transaction",
                        "db_table": "pos_transactions",
                    },
                ),
                migrations.AddIndex(
                    model_name="postransaction",
                    index=models.Index(
                        fields=["connection", "transaction_timestamp"],
                        name="idx_pos_tx_conn_timestamp",
                    ),
                ),
                migrations.AddIndex(
                    model_name="postransaction",
                    index=models.Index(
                        fields=["external_transaction_id"], name="idx_pos_tx_external_id"
                    ),
                ),
                migrations.AddIndex(
                    model_name="postransaction",
                    index=models.Index(
                        fields=["connection", "invoice_generated", "invoice_transmitted"],
                        name="idx_pos_tx_invoice_status",
                    ),
                ),
                migrations.AddIndex(
                    model_name="postransaction",
                    index=models.Index(
                        condition=models.Q(("status", "pending")),
                        fields=["received_at"],
                        name="idx_pos_tx_pending",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="postransaction",
                    constraint=models.UniqueConstraint(
                        fields=("connection", "external_transaction_id", "transaction_timestamp"),
                        name="uniq_pos_transaction_external",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(CREATE_TRANSACTIONS, 'DROP TABLE "pos_transactions" CASCADE;'),
                migrations.RunPython(partitions_create, migrations.RunPython.noop),
            ],
        ),
    ]
