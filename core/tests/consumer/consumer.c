/* An outside program built against an installed libmmapfile. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <mmapfile.h>

int main(int argc, char **argv)
{
	const void *p;
	uint32_t n;
	void *out;
	size_t next;
	mmf_file *f;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: consumer FILE\n");
		return 2;
	}
	rc = mmf_open(argv[1], O_RDWR | O_CREAT, 4096, NULL, &f);
	if (rc == 0)
		rc = mmf_allocate_slice(f, 5, 0, &out, &next);
	if (rc == 0) {
		memcpy(out, "hello", 5);
		rc = mmf_sync(f);
	}
	if (rc == 0)
		rc = mmf_slice(f, 0, &p, &n);
	if (rc == 0 && (n != 5 || memcmp(p, "hello", 5) != 0))
		rc = MMF_ECORRUPT;
	if (rc == 0)
		rc = mmf_delete(f);
	printf("consumer: %s\n", mmf_strerror(rc));
	return rc == 0 ? 0 : 1;
}
