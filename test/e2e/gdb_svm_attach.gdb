# The second GDB session of gdb_svm_qemu.sh: attach to the guest that runs
# since the first one detached (the stub stops it on GDB's '?'), audit the
# shadows, tear them all down (monitor blow: the guest refaults what it
# touches), write the mailbox through the guest's PAE tables and let the guest
# end.
set pagination off
set confirm off
set width 0
printf "attach-eip=0x%x cr0=0x%x\n", $eip, $cr0
monitor shadows
monitor audit
monitor blow
monitor shadows
monitor pool
monitor audit
set {unsigned}0x80000004 = 0x600DF00D
continue
echo === done\n
