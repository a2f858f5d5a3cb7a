"""factory_boy factories for domain objects. Personas live in tests/conftest.py."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from releases.models import Release, ReleaseService, ScopeItem, Service, ServiceDependency, Team
from scheduling.models import Environment, FreezeWindow


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"service-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    team = factory.SubFactory(TeamFactory)


class DependencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceDependency

    service = factory.SubFactory(ServiceFactory)
    depends_on = factory.SubFactory(ServiceFactory)


class EnvironmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Environment
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"env-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())
    order = factory.Sequence(lambda n: 100 + n)


class ReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Release
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Release {n}")
    version = "1.0.0"
    author = factory.SubFactory(UserFactory)
    owner = factory.SelfAttribute("author")
    planned_start = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    planned_end = factory.LazyAttribute(lambda o: o.planned_start + timedelta(hours=2))

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        # services=[(service, "1.2.3"), ...]
        for service, version in extracted or []:
            ReleaseService.objects.create(release=self, service=service, version=version)


class ScopeItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScopeItem

    release = factory.SubFactory(ReleaseFactory)
    title = factory.Sequence(lambda n: f"Change {n}")


class FreezeWindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FreezeWindow

    name = factory.Sequence(lambda n: f"Freeze {n}")
    start = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    end = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=5))
