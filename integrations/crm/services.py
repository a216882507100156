"""CRM writes of its own: sandbox connections and choosing a connection's won stages. Deals go
through the shared ingest pipeline (``integrations.base.pipeline``, with ``crm.pipeline``)."""

import logging

from django.db import transaction

from integrations.base import registry
from integrations.base.connections import connector_for
from integrations.base.errors import AuthenticationError, ConnectorError
from integrations.base.events import connection_reauthorization_needed
from integrations.crm.connectors import IrnNotes, PipelineStage
from integrations.crm.models import CRMConnection, CRMDeal

logger = logging.getLogger(__name__)


def connection_pipelines(*, connection: CRMConnection) -> list[PipelineStage]:
    """Every stage of the account's deal pipelines, read from the platform now. Refused
    credentials mark the connection as needing re-authorising."""
    try:
        stages = connector_for(connection).pipelines()
    except AuthenticationError as error:
        connection_reauthorization_needed(connection=connection, error=error)
        raise
    _labels_keep(connection=connection, stages=stages)
    return stages


def _labels_keep(*, connection: CRMConnection, stages: list[PipelineStage]) -> None:
    pipelines = {stage.pipeline_id: stage.pipeline_label for stage in stages}
    labels = {stage.stage_id: stage.label for stage in stages}
    if (pipelines, labels) != (connection.pipeline_labels, connection.stage_labels):
        CRMConnection.objects.filter(pk=connection.pk).update(
            pipeline_labels=pipelines, stage_labels=labels
        )
        connection.pipeline_labels, connection.stage_labels = pipelines, labels


def connection_won_stages_default(*, connection: CRMConnection) -> list[str]:
    """The connection's won stages. When none are chosen yet (a fresh OAuth connection), the
    platform's own closed-won stages of the pipelines of interest are chosen and stored."""
    if connection.won_stage_ids:
        if not connection.stage_labels:
            _labels_try(connection=connection)
        return connection.won_stage_ids
    won = [
        stage.stage_id
        for stage in connection_pipelines(connection=connection)
        if stage.is_won
        and (not connection.pipeline_ids or stage.pipeline_id in connection.pipeline_ids)
    ]
    # Only while still unset: an operator's choice made meanwhile stands.
    CRMConnection.objects.filter(pk=connection.pk, won_stage_ids=[]).update(won_stage_ids=won)
    connection.refresh_from_db(fields=["won_stage_ids"])
    return connection.won_stage_ids


def _labels_try(*, connection: CRMConnection) -> None:
    """Read the stages' names once for the pages; a failure here only leaves them unnamed (the
    ids show), never holds up the deals."""
    try:
        connection_pipelines(connection=connection)
    except ConnectorError as error:
        logger.info("Connection %s: stage names not read (%s)", connection.pk, error)


def deal_irn_note_queue(*, invoice, stage: str) -> None:
    """Once a deal's invoice is signed (and committed), queue telling the platform its IRN,
    where the platform takes it (``IrnNotes``)."""
    from invoices.models import Invoice

    if stage != Invoice.Stage.SIGNED or invoice.source_type != Invoice.Source.CRM:
        return
    try:
        connector = registry.get(invoice.source_platform)
    except KeyError:
        return
    if not issubclass(connector, IrnNotes):
        return
    from integrations.crm.tasks import deal_irn_note

    deal_id = str(invoice.source_id)
    transaction.on_commit(
        lambda: deal_irn_note.apply_async(kwargs={"deal_id": deal_id}, queue="standard")
    )


def deal_irn_note(*, deal_id) -> str:
    """Tell the platform the IRN of the deal's signed invoice (the connector keeps it to once)."""
    deal = CRMDeal.objects.select_related("connection", "invoice").filter(pk=deal_id).first()
    if deal is None or deal.invoice is None or not deal.invoice.irn:
        return "nothing to note"
    connector = connector_for(deal.connection)
    if not isinstance(connector, IrnNotes):
        return "nothing to note"
    connector.deal_irn_note(deal_id=deal.external_deal_id, irn=deal.invoice.irn)
    return "noted"
