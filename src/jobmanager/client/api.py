"""Every API call, as methods shared by `Client` (returning results) and `AsyncClient`
(returning awaitables). The builders live in `calls/`; see `call.Endpoint`."""

from __future__ import annotations

from jobmanager.client.call import Endpoint, Pages
from jobmanager.client.calls import (
    configurations,
    dataexchange,
    jobs,
    models,
    schedules,
    webhooks,
)


class Endpoints:
    # Model Management
    create_model = Endpoint(models.create_model)
    list_models = Endpoint(models.list_models)
    iter_models = Pages(models.list_models)
    get_model = Endpoint(models.get_model)
    update_model = Endpoint(models.update_model)
    delete_model = Endpoint(models.delete_model)
    create_version = Endpoint(models.create_version)
    list_versions = Endpoint(models.list_versions)
    iter_versions = Pages(models.list_versions)
    get_version = Endpoint(models.get_version)
    download_version = Endpoint(models.download_version)
    update_last_version = Endpoint(models.update_last_version)
    delete_version = Endpoint(models.delete_version)

    # Data Exchange
    upload_file = Endpoint(dataexchange.upload_file)
    download_file = Endpoint(dataexchange.download_file)
    replace_file = Endpoint(dataexchange.replace_file)
    delete_file = Endpoint(dataexchange.delete_file)
    get_file = Endpoint(dataexchange.get_file)
    update_file = Endpoint(dataexchange.update_file)
    create_directory = Endpoint(dataexchange.create_directory)
    get_directory = Endpoint(dataexchange.get_directory)
    update_directory = Endpoint(dataexchange.update_directory)
    list_directory = Endpoint(dataexchange.list_directory)
    iter_directory = Pages(dataexchange.list_directory)
    delete_directory = Endpoint(dataexchange.delete_directory)

    # Environment configurations
    create_configuration = Endpoint(configurations.create_configuration)
    list_configurations = Endpoint(configurations.list_configurations)
    iter_configurations = Pages(configurations.list_configurations)
    get_configuration = Endpoint(configurations.get_configuration)
    update_configuration = Endpoint(configurations.update_configuration)
    delete_configuration = Endpoint(configurations.delete_configuration)
    list_environments = Endpoint(configurations.list_environments)
    iter_environments = Pages(configurations.list_environments)
    get_environment = Endpoint(configurations.get_environment)

    # Job Manager
    submit_job = Endpoint(jobs.submit_job)
    get_job = Endpoint(jobs.get_job)
    list_jobs = Endpoint(jobs.list_jobs)
    iter_jobs = Pages(jobs.list_jobs)
    stop_job = Endpoint(jobs.stop_job)
    get_job_provenance = Endpoint(jobs.get_job_provenance)
    list_job_outputs = Endpoint(jobs.list_job_outputs)
    iter_job_outputs = Pages(jobs.list_job_outputs)
    download_job_output = Endpoint(jobs.download_job_output)
    rerun_job = Endpoint(jobs.rerun_job)
    repair_job = Endpoint(jobs.repair_job)
    create_schedule = Endpoint(schedules.create_schedule)
    get_schedule = Endpoint(schedules.get_schedule)
    list_schedules = Endpoint(schedules.list_schedules)
    iter_schedules = Pages(schedules.list_schedules)
    delete_schedule = Endpoint(schedules.delete_schedule)
    start_schedule = Endpoint(schedules.start_schedule)
    stop_schedule = Endpoint(schedules.stop_schedule)
    list_firings = Endpoint(schedules.list_firings)
    iter_firings = Pages(schedules.list_firings)
    create_webhook = Endpoint(webhooks.create_webhook)
    get_webhook = Endpoint(webhooks.get_webhook)
    list_webhooks = Endpoint(webhooks.list_webhooks)
    iter_webhooks = Pages(webhooks.list_webhooks)
    delete_webhook = Endpoint(webhooks.delete_webhook)
    list_deliveries = Endpoint(webhooks.list_deliveries)
    iter_deliveries = Pages(webhooks.list_deliveries)
