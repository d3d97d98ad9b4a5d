/*
 * dns_list.h -- an intrusive doubly linked list, the one copy every module uses.
 *
 * The elements carry their own `prev` and `next` pointers (any struct with those two
 * members) and the list is a pointer to its first element, NULL when empty. Insertion
 * and removal are O(1); an unlinked element has both pointers NULL.
 *
 *   struct conn { struct conn *prev, *next; ... };
 *   struct conn *conns = NULL;
 *   DNS_LIST_PUSH(conns, c);
 *   DNS_LIST_UNLINK(conns, c);
 */
#ifndef CAIRN_DNS_LIST_H
#define CAIRN_DNS_LIST_H

/* Put elem at the front of the list whose first element is head (an lvalue). */
#define DNS_LIST_PUSH(head, elem) do { \
	(elem)->prev = NULL; \
	(elem)->next = (head); \
	if ((head) != NULL) \
		(head)->prev = (elem); \
	(head) = (elem); \
} while (0)

/* Take elem, which must be on the list, out of it; its pointers are left NULL. */
#define DNS_LIST_UNLINK(head, elem) do { \
	if ((elem)->prev != NULL) \
		(elem)->prev->next = (elem)->next; \
	else \
		(head) = (elem)->next; \
	if ((elem)->next != NULL) \
		(elem)->next->prev = (elem)->prev; \
	(elem)->prev = (elem)->next = NULL; \
} while (0)

#endif
