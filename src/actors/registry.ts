/** Actors by key: created on first use, stopped and forgotten on request. */
import type { Actor, StopOptions } from './actor.js';

export class ActorRegistry<A extends Actor<unknown>> {
  private readonly actors = new Map<string, A>();

  get size(): number {
    return this.actors.size;
  }

  get(key: string): A | undefined {
    return this.actors.get(key);
  }

  getOrCreate(key: string, create: (key: string) => A): A {
    let actor = this.actors.get(key);
    if (actor === undefined) {
      actor = create(key);
      this.actors.set(key, actor);
    }
    return actor;
  }

  keys(): IterableIterator<string> {
    return this.actors.keys();
  }

  values(): IterableIterator<A> {
    return this.actors.values();
  }

  async stop(key: string, options?: StopOptions): Promise<boolean> {
    const actor = this.actors.get(key);
    if (actor === undefined) return false;
    this.actors.delete(key);
    await actor.stop(options);
    return true;
  }

  async stopAll(options?: StopOptions): Promise<void> {
    const all = [...this.actors.values()];
    this.actors.clear();
    await Promise.all(all.map((a) => a.stop(options)));
  }
}
