/**
 * Work on this host's engine itself rather than inside a container: snapshot commits and their
 * images, and named volumes.
 */
import type Docker from 'dockerode';
import type { CommitRequest, CommitResult, VolumeCreateRequest, VolumeInfo } from '../common/satellite-protocol';
import { containerState, engineError, isEngineNotFound } from './engine-errors';

export class EngineObjects {
  constructor(private readonly options: { docker: Docker }) {}

  private container(name: string): Docker.Container {
    return this.options.docker.getContainer(name);
  }

  /** The container's engine state; 404 when it does not exist. */
  private state(name: string): Promise<Docker.ContainerInspectInfo['State']> {
    return containerState(this.options.docker, name);
  }

  /** Commits the container's filesystem as an image (paused for the commit, never stopped). */
  async commit(name: string, request: CommitRequest): Promise<CommitResult> {
    await this.state(name);
    const changes = Object.entries(request.labels).map(([key, value]) => `LABEL ${JSON.stringify(key)}=${JSON.stringify(value)}`);
    let id: string;
    try {
      const result = (await this.container(name).commit({ repo: request.repo, tag: request.tag, comment: request.comment ?? '', pause: true, changes })) as { Id: string };
      id = result.Id;
    } catch (err) {
      throw engineError(err, `commit of ${name}`);
    }
    const image = await this.options.docker.getImage(id).inspect();
    return { imageId: id, size: image.Size };
  }

  /** Removes an image; one that is already gone is not an error; one in use is a 409. */
  async removeImage(reference: string): Promise<void> {
    try {
      await this.options.docker.getImage(reference).remove({ force: false, noprune: false });
    } catch (err) {
      if (isEngineNotFound(err)) return;
      throw engineError(err, `image ${reference}`);
    }
  }

  async createVolume(request: VolumeCreateRequest): Promise<VolumeInfo> {
    try {
      await this.options.docker.createVolume({ Name: request.name, Labels: request.labels });
    } catch (err) {
      throw engineError(err, `volume ${request.name}`);
    }
    return this.inspectVolume(request.name);
  }

  async inspectVolume(name: string): Promise<VolumeInfo> {
    try {
      const info = (await this.options.docker.getVolume(name).inspect()) as Docker.VolumeInspectInfo & { CreatedAt?: string };
      return { name: info.Name, driver: info.Driver, mountpoint: info.Mountpoint, labels: info.Labels ?? {}, created: info.CreatedAt ?? null };
    } catch (err) {
      throw engineError(err, `volume ${name}`);
    }
  }

  /** Removes a volume; one that is already gone is not an error; one in use is a 409. */
  async removeVolume(name: string): Promise<void> {
    try {
      await this.options.docker.getVolume(name).remove();
    } catch (err) {
      if (isEngineNotFound(err)) return;
      throw engineError(err, `volume ${name}`);
    }
  }
}
