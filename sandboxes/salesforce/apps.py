from django.apps import AppConfig


class SalesforceSandboxConfig(AppConfig):
    name = "sandboxes.salesforce"
    label = "sandbox_salesforce"
    verbose_name = "Salesforce sandbox"
    # Served at /sandbox/<mount>/.
    mount = "salesforce"

    def ready(self):
        from integrations.base.sandbox_accounts import provisioner_register
        from sandboxes.kit.registry import traffic_register
        from sandboxes.salesforce.provisioning import SalesforceProvisioner
        from sandboxes.salesforce.traffic import SalesforceTraffic

        provisioner_register(SalesforceProvisioner())
        traffic_register(SalesforceTraffic)
