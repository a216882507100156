"""CRM writes of its own: sandbox connections and choosing a connection's won stages. Deals go
through the shared ingest pipeline (``integrations.base.pipeline``, with ``crm.pipeline``)."""

import logging

from integrations.base.connections import connector_for
from integrations.base.errors import AuthenticationError, ConnectorError
from integrations.base.events import connection_reauthorization_needed
from integrations.crm.connectors import PipelineStage
from integrations.crm.models import CRMConnection

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
