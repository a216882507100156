from integrations.crm.hubspot.sandbox_models import (  # noqa: F401 (registers the sandbox's models)
    HubSpotSandboxAssociation,
    HubSpotSandboxAuthorizationCode,
    HubSpotSandboxObject,
    HubSpotSandboxPipeline,
    HubSpotSandboxPipelineStage,
    HubSpotSandboxPortal,
    HubSpotSandboxToken,
)
