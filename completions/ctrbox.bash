# bash completion for ctrbox and its ctrbox-APPLET / APPLET links.
# Only a relay: every candidate comes from `ctrbox __complete`, which reads the same tables as the
# parser, so completion cannot drift from the code. Directives (after the last ':'): 1 error,
# 2 no space, 4 no file names, 8 extension filter, 16 directories only.

_ctrbox()
{
	local cur line cmd applet out directive
	local -a argv words cands
	COMPREPLY=()
	# Split the line ourselves so that "--format=js" stays one word for ctrbox.
	line=${COMP_LINE:0:COMP_POINT}
	read -r -a argv <<<"$line"
	[[ $line == *[[:space:]] ]] && argv+=("")
	[[ ${#argv[@]} -eq 0 ]] && return
	cmd=${argv[0]}
	cur=${argv[-1]}
	applet=
	case ${cmd##*/} in
	ctrbox) ;;
	ctrbox-*) applet=${cmd##*/}; applet=${applet#ctrbox-} ;;
	*) applet=${cmd##*/} ;;
	esac
	words=("${argv[@]:1}")
	if [[ -n $applet ]]; then
		# A link runs one applet: ask ctrbox as if it had been named.
		words=("$applet" "${words[@]}")
		command -v ctrbox >/dev/null 2>&1 && cmd=ctrbox
	fi
	out=$("$cmd" __complete "${words[@]}" 2>/dev/null) || return
	directive=${out##*:}
	out=${out%:*}
	[[ $directive =~ ^[0-9]+$ ]] || return
	(( directive & 1 )) && return
	local IFS=$'\n' c
	for c in $out; do
		cands+=("${c%%$'\t'*}")
	done
	# bash splits words at '=' (COMP_WORDBREAKS): offer only the part after it.
	if [[ $cur == *=* && $COMP_WORDBREAKS == *=* ]]; then
		local pre=${cur%=*}=
		cands=("${cands[@]#"$pre"}")
	fi
	COMPREPLY=("${cands[@]}")
	(( directive & 2 )) && compopt -o nospace 2>/dev/null
	if [[ ${#COMPREPLY[@]} -eq 0 ]]; then
		if (( directive & 16 )); then
			compopt -o dirnames 2>/dev/null
			COMPREPLY=($(compgen -d -- "${COMP_WORDS[COMP_CWORD]}"))
		elif (( ! (directive & 4) )); then
			# A path is taken here: file names, marked so readline adds / to directories.
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -f -- "${COMP_WORDS[COMP_CWORD]}"))
		fi
	fi
}

_ctrbox_register()
{
	local a p
	complete -F _ctrbox ctrbox
	command -v ctrbox >/dev/null 2>&1 || return 0
	for a in $(ctrbox --list 2>/dev/null); do
		complete -F _ctrbox "ctrbox-$a"
		# A plain APPLET name only where it is one of our links, never a system tool.
		p=$(type -P "$a" 2>/dev/null) || continue
		[[ -L $p && $(readlink -f "$p") == "$(readlink -f "$(type -P ctrbox)")" ]] &&
			complete -F _ctrbox "$a"
	done
	return 0
}
_ctrbox_register
unset -f _ctrbox_register
