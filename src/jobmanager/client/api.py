"""Every API call, as methods shared by `Client` (returning results) and `AsyncClient`
(returning awaitables). The builders live in `calls/`; see `call.Endpoint`."""

from __future__ import annotations

from jobmanager.client.call import Endpoint, Pages
from jobmanager.client.calls import data, jobs, models, prl


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
    upload_file = Endpoint(data.upload_file)
    download_file = Endpoint(data.download_file)
    replace_file = Endpoint(data.replace_file)
    delete_file = Endpoint(data.delete_file)
    get_file = Endpoint(data.get_file)
    update_file = Endpoint(data.update_file)
    create_directory = Endpoint(data.create_directory)
    get_directory = Endpoint(data.get_directory)
    update_directory = Endpoint(data.update_directory)
    list_directory = Endpoint(data.list_directory)
    iter_directory = Pages(data.list_directory)
    delete_directory = Endpoint(data.delete_directory)

    # Environment configurations
    create_configuration = Endpoint(prl.create_configuration)
    list_configurations = Endpoint(prl.list_configurations)
    iter_configurations = Pages(prl.list_configurations)
    get_configuration = Endpoint(prl.get_configuration)
    update_configuration = Endpoint(prl.update_configuration)
    delete_configuration = Endpoint(prl.delete_configuration)
    list_environments = Endpoint(prl.list_environments)
    iter_environments = Pages(prl.list_environments)
    get_environment = Endpoint(prl.get_environment)

    # Job Manager
    submit_job = Endpoint(jobs.submit_job)
    get_job = Endpoint(jobs.get_job)
    list_jobs = Endpoint(jobs.list_jobs)
    iter_jobs = Pages(jobs.list_jobs)
    stop_job = Endpoint(jobs.stop_job)
    create_schedule = Endpoint(jobs.create_schedule)
    get_schedule = Endpoint(jobs.get_schedule)
    list_schedules = Endpoint(jobs.list_schedules)
    iter_schedules = Pages(jobs.list_schedules)
    delete_schedule = Endpoint(jobs.delete_schedule)
    start_schedule = Endpoint(jobs.start_schedule)
    stop_schedule = Endpoint(jobs.stop_schedule)
