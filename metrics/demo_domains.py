"""Demo business domains for the services (run by ``seed_demo``; idempotent), so the metrics
pages can be filtered by domain."""

from releases.models import Service

DOMAINS = {
    "payments": ["payments-api", "ledger", "checkout-service"],
    "storefront": ["web-storefront", "mobile-bff", "catalog-service"],
    "identity": ["auth-service", "user-profile", "notification-service"],
}


def demo(users, envs):
    for domain, slugs in DOMAINS.items():
        for service in Service.objects.filter(slug__in=slugs).exclude(domain=domain):
            service.domain = domain
            service.save_with_reason("Demo: business domain for the metrics", user=None)
