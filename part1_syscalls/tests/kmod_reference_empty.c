/* The grader's own empty program: empty.c must make as many calls as this. */
int main(void)
{
	return 0;
}
