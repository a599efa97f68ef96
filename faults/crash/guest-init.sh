#!/bin/sh
# /init of the crash-vm guest (busybox sh). scripts/crash-vm packs it into
# the initramfs with busybox, the kernel modules, the crash writers and the
# verifier. The action and the filesystem come from the kernel command line
# (scripts/mmfresults/crashvm.py writes it from its table FILESYSTEMS):
#   mmf.modules=M1,M2,...  modules to load, in order (virtio, then the fs's)
#   mmf.fs=NAME  the row of the table (printed in MMF-FS)
#   mmf.fstype=TYPE mmf.mountopts=OPTS   how to mount the disks (mount -t -o)
#   mmf.action=probe                              print MMF-PROBE-OK
#   mmf.action=write mmf.writer=NAME mmf.args=A/B/C
#       mount the disk with serial cw on /mnt, run /bin/NAME /mnt A B C
#       (the writer's options joined by '/': their values contain commas)
#   mmf.action=verify mmf.per=M
#       the disk with serial `pack` holds the crash states side by side, the
#       one with serial `states` their list, a line each (then NUL padding):
#       `NAME OFFSET VERIFIER-OPTIONS...` (mmf_crash_verify's --acked
#       --created --deleted --deleting --marks --shrunk); for each: a loop
#       device at OFFSET of the pack, mount (replays the journal), run the
#       verifier with those options, umount, detach; prints
#       `MMF-STATE NAME CRASH-VERIFY ...` once the state is unmounted
# then powers off. First of all it prints `MMF-NET IF...`, the network
# interfaces the kernel sees (the host refuses any but lo: the guest has no
# network device). Every line the host reads starts with MMF-, ACK, CREATE,
# DELETE, KILLARM, START, DONE or ERR.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

arg() {
  for w in $(cat /proc/cmdline); do
    case "$w" in "$1="*) echo "${w#*=}" ;; esac
  done
}

for m in $(arg mmf.modules | tr , ' '); do
  insmod /lib/modules/$m.ko 2>/dev/null || echo "MMF-ERR insmod $m"
done
echo "MMF-NET $(ls /sys/class/net 2>/dev/null | tr '\n' ' ')"
fs=$(arg mmf.fstype)
opts=$(arg mmf.mountopts)
echo "MMF-FS $(arg mmf.fs) $fs $opts"

# dev_of SERIAL: the vdX whose virtio serial is SERIAL (waits for it).
dev_of() {
  i=0
  while [ $i -lt 200 ]; do
    for s in /sys/block/vd*/serial; do
      [ -f "$s" ] || continue
      if [ "$(cat "$s")" = "$1" ]; then
        d=${s%/serial}; echo "${d##*/}"; return 0
      fi
    done
    sleep 0.05; i=$((i + 1))
  done
  return 1
}

off() { sync; echo o > /proc/sysrq-trigger; sleep 5; }

case "$(arg mmf.action)" in
probe)
  echo MMF-PROBE-OK ;;
write)
  dev=$(dev_of cw) || { echo "MMF-ERR no disk"; off; }
  mount -t "$fs" -o "$opts" /dev/$dev /mnt || { echo "MMF-ERR mount"; off; }
  echo MMF-WRITER-START
  /bin/$(arg mmf.writer) /mnt $(arg mmf.args | tr / ' ')
  echo "MMF-WRITER-EXIT $?"
  umount /mnt ;;
verify)
  per=$(arg mmf.per)
  pack=$(dev_of pack) && list=$(dev_of states) || { echo "MMF-ERR no disk"; off; }
  tr -d '\000' </dev/"$list" >/tmp/states
  while read -r name offset opts_v; do
    loop=$(losetup -f) && losetup -o "$offset" "$loop" /dev/"$pack" </dev/null || {
      echo "MMF-STATE $name CRASH-VERIFY status=loop-failed"; continue; }
    if mount -t "$fs" -o "$opts" "$loop" /mnt </dev/null 2>/dev/null; then
      # shellcheck disable=SC2086  # the verifier's options, split on purpose
      out=$(/bin/mmf_crash_verify /mnt $opts_v --per-file "$per" </dev/null 2>&1)
      umount /mnt || out="$out umount=failed"
      echo "MMF-STATE $name $out"  # after the umount: the host fscks it now
    else
      echo "MMF-STATE $name CRASH-VERIFY status=mount-failed"
    fi
    losetup -d "$loop" || echo "MMF-ERR losetup -d $name"
  done </tmp/states
  echo MMF-VERIFY-DONE ;;
*)
  echo "MMF-ERR unknown action" ;;
esac
off
