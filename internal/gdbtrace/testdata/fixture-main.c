/*
 * FIXTURE guest's application main (NOT Unikraft, see fixture-guest.c): the strong main that
 * replaces the guest's weak one, as an application's replaces Unikraft's.
 */
extern volatile unsigned int fixture_app_ran;
volatile unsigned int fixture_app_ran;

int main(int argc, char *argv[])
{
	(void)argv;
	fixture_app_ran = argc;
	return 0;
}
