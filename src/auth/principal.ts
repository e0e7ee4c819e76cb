import type { Actor } from './caller';
import type { JwtClaims } from './jwt';

/** Who is calling, from a verified bearer token. */
export class Principal {
  readonly isAdmin: boolean;
  private readonly scopes: ReadonlySet<string>;

  constructor(
    readonly subject: string,
    isAdmin: boolean,
    scope: string,
  ) {
    this.isAdmin = isAdmin;
    this.scopes = new Set(scope.split(' ').filter(Boolean));
  }

  static fromClaims(claims: JwtClaims): Principal {
    return new Principal(claims.sub, claims.admin, claims.scope);
  }

  toActor(): Actor {
    return { subject: this.subject, role: this.isAdmin ? 'admin' : null, scope: [...this.scopes].join(' ') };
  }

  hasScope(scope: string): boolean {
    return this.scopes.has(scope);
  }
}
