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
    /** A service, never a user: a route's `self` rule never matches it. */
    readonly isService = false,
  ) {
    this.isAdmin = isAdmin;
    this.scopes = new Set(scope.split(' ').filter(Boolean));
  }

  static fromClaims(claims: JwtClaims): Principal {
    return new Principal(claims.sub, claims.admin, claims.scope, claims.service);
  }

  /** The user this principal is, if it is one: a service named like a user is not that user. */
  isUser(userId: string | undefined): boolean {
    return !this.isService && userId !== undefined && userId === this.subject;
  }

  toActor(): Actor {
    return { subject: this.subject, role: this.isAdmin ? 'admin' : null, scope: [...this.scopes].join(' ') };
  }

  hasScope(scope: string): boolean {
    return this.scopes.has(scope);
  }
}
