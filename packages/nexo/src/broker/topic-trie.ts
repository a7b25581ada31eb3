interface TrieNode<V> {
  literal: Map<string, TrieNode<V>> | undefined;
  star: TrieNode<V> | undefined;
  /** Values whose pattern ends here. */
  here: V[];
  /** Values whose pattern ends with `>` after this node. */
  rest: V[];
}

function node<V>(): TrieNode<V> {
  return { literal: undefined, star: undefined, here: [], rest: [] };
}

/**
 * Subscription patterns indexed by segment, so matching a topic walks only the
 * branches that can match (literal, `*`, `>`) instead of testing every pattern.
 */
export class TopicTrie<V> {
  private readonly root: TrieNode<V> = node();
  private count = 0;

  /** Values stored (one per `add` not yet removed). */
  get size(): number {
    return this.count;
  }

  /** Trie nodes, root included (diagnostics; proves that `remove` prunes). */
  countNodes(): number {
    const walk = (n: TrieNode<V>): number => {
      let c = 1;
      if (n.star) c += walk(n.star);
      if (n.literal) for (const child of n.literal.values()) c += walk(child);
      return c;
    };
    return walk(this.root);
  }

  /** Index `value` under a pattern already checked by `validatePattern`. */
  add(pattern: string, value: V): void {
    const segs = pattern.split(".");
    let n = this.root;
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i];
      if (s === ">") {
        n.rest.push(value);
        this.count++;
        return;
      }
      if (s === "*") n = n.star ??= node();
      else {
        n.literal ??= new Map();
        let next = n.literal.get(s);
        if (!next) n.literal.set(s, (next = node()));
        n = next;
      }
    }
    n.here.push(value);
    this.count++;
  }

  /** Remove one occurrence of `value` under `pattern`; prunes emptied branches. */
  remove(pattern: string, value: V): boolean {
    const segs = pattern.split(".");
    const path: Array<[TrieNode<V>, string]> = [];
    let n: TrieNode<V> | undefined = this.root;
    for (const s of segs) {
      if (s === ">") break;
      path.push([n, s]);
      n = s === "*" ? n.star : n.literal?.get(s);
      if (!n) return false;
    }
    const list = segs[segs.length - 1] === ">" ? n.rest : n.here;
    const i = list.indexOf(value);
    if (i === -1) return false;
    list.splice(i, 1);
    this.count--;
    // Prune from the leaf up while nodes are empty.
    for (let k = path.length - 1; k >= 0; k--) {
      const [parent, s] = path[k];
      const child = s === "*" ? parent.star : parent.literal?.get(s);
      if (!child || child.here.length || child.rest.length || child.star || (child.literal && child.literal.size)) break;
      if (s === "*") parent.star = undefined;
      else {
        parent.literal!.delete(s);
        if (parent.literal!.size === 0) parent.literal = undefined;
      }
    }
    return true;
  }

  /** Every value whose pattern matches `topic`, in no particular order. */
  match(topic: string): V[] {
    const out: V[] = [];
    this.walk(this.root, topic.split("."), 0, out);
    return out;
  }

  private walk(n: TrieNode<V>, segs: string[], i: number, out: V[]): void {
    if (i === segs.length) {
      for (const v of n.here) out.push(v);
      return;
    }
    // `>` here needs at least one more segment, which segs[i] is.
    for (const v of n.rest) out.push(v);
    const lit = n.literal?.get(segs[i]);
    if (lit) this.walk(lit, segs, i + 1, out);
    if (n.star) this.walk(n.star, segs, i + 1, out);
  }
}
