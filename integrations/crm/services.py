"""CRM writes of its own: sandbox connections and choosing a connection's won stages. Deals go
through the shared ingest pipeline (``integrations.base.pipeline``, with ``crm.pipeline``)."""

from integrations.base.connections import connector_for
from integrations.base.errors import AuthenticationError
from integrations.base.events import connection_reauthorization_needed
from integrations.crm.connectors import PipelineStage
from integrations.crm.models import CRMConnection


def connection_pipelines(*, connection: CRMConnection) -> list[PipelineStage]:
    """Every stage of the account's deal pipelines, read from the platform now. Refused
    credentials mark the connection as needing re-authorising."""
    try:
        return connector_for(connection).pipelines()
    except AuthenticationError as error:
        connection_reauthorization_needed(connection=connection, error=error)
        raise


def connection_won_stages_default(*, connection: CRMConnection) -> list[str]:
    """The connection's won stages. When none are chosen yet (a fresh OAuth connection), the
    platform's own closed-won stages of the pipelines of interest are chosen and stored."""
    if connection.won_stage_ids:
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
