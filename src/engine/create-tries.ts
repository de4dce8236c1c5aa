/**
 * POSTs of one create in one run, each after a lost answer and a lookup that found nothing (see
 * createUser in apply-plan.ts): a target failing one request in ten still gets nearly every
 * newcomer created in the first run, and never a duplicate where names are unique.
 */
export const CREATE_POSTS = 3;
