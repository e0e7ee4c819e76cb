export interface UserRecord {
  id: string;
  bluumAccountId: string;
  createdAt: Date;
  updatedAt: Date;
}
